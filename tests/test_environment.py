"""The installed environment: d2l's own pins are the only unmet requirements,
and d2l imports silently."""

import re
import subprocess
import sys

# d2l 1.0.3's exact pins, which requirements-d2l.txt overrides on purpose.
D2L_PINS = {"numpy", "pandas", "scipy", "matplotlib", "matplotlib-inline", "requests", "jupyter"}
D2L_LINE = re.compile(r"d2l 1\.0\.3 has requirement (?P<name>[A-Za-z0-9_.-]+)==\S+, but you have \S+ \S+\.")


def test_pip_check_reports_only_the_d2l_pins_we_override():
    result = subprocess.run([sys.executable, "-m", "pip", "check", "--disable-pip-version-check"],
                            capture_output=True, text=True)
    problems = [line for line in result.stdout.splitlines()
                if line.strip() and line.strip() != "No broken requirements found."]
    unexpected = [line for line in problems
                  if not (m := D2L_LINE.fullmatch(line.strip())) or m["name"].lower() not in D2L_PINS]
    assert unexpected == [], "\n".join(unexpected)


def test_d2l_imports_without_a_word_on_stderr():
    result = subprocess.run([sys.executable, "-c", "from d2l import torch as d2l; d2l.reshape"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
