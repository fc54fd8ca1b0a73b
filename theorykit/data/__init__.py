"""Data shipped with theorykit (see ``README.md`` here): name -> file, read by ``theorykit spectrum --example``."""

EXAMPLES = {"digits": "digits.npy"}
