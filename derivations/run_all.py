"""Run every derivation script; exit non-zero if any check fails.  ``--quick`` for CI."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(p for p in here.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py")
failed = []
for script in scripts:
    result = subprocess.run([sys.executable, str(script), *sys.argv[1:]], cwd=here.parent)
    if result.returncode:
        failed.append(script.name)
print(
    f"derivations: {len(scripts) - len(failed)} passed, {len(failed)} failed"
    + (f" ({', '.join(failed)})" if failed else "")
)
sys.exit(1 if failed else 0)
