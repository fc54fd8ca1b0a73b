"""Shared machinery that imports no model: errors, schema rules, precision, certified balls, output,
the generated-code cache, progress, threads and optional-dependency probes."""
