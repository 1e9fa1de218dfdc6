"""Refresh the Chinese edition's catalogs after the English text changed.

1. Extract the messages of the English text with Sphinx's gettext builder
   (into _build/gettext).
2. Merge them into locale/zh_CN/LC_MESSAGES/*.po with sphinx-intl: a new
   message arrives untranslated; a changed one keeps its old translation,
   marked fuzzy, with its previous English beside it (#| msgid ...); a message
   the English no longer has becomes obsolete (#~).
3. Drop the format flags that babel guesses from a message's look (a "%" in
   "5% of", the braces of {term}): the book's messages are Markdown, never
   Python format strings, and the flags would make ``msgfmt --check-format``
   reject a correct translation.
4. Copy across the messages that have nothing to translate, dropping the
   guess sphinx-intl may have made for them: those without a Latin letter
   outside math and code (the glossary's Chinese names) and the pinyin of the
   glossary's table.

tests/test_translations.py then fails until every fuzzy, untranslated or
obsolete message is dealt with (README, "Translating").
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCALE = ROOT / "locale"
BUILD = ROOT / "_build" / "gettext-build"
NOT_WORDS = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|\{[\w:-]+\}", re.S)
PINYIN = re.compile(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü ]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü ]*")


def nothing_to_translate(text):
    return not re.search(r"[A-Za-z]", NOT_WORDS.sub("", text)) or PINYIN.fullmatch(text) is not None


def main():
    shutil.rmtree(BUILD, ignore_errors=True)
    subprocess.run([str(BIN / "jupyter-book"), "build", str(ROOT), "--builder", "custom",
                    "--custom-builder", "gettext", "--path-output", str(BUILD)], check=True)
    templates = BUILD / "_build" / "gettext"
    subprocess.run([str(BIN / "sphinx-intl"), "update", "-p", str(templates), "-l", "zh_CN",
                    "-d", str(LOCALE)], check=True)
    copied = 0
    for path in sorted((LOCALE / "zh_CN" / "LC_MESSAGES").rglob("*.po")):
        with path.open("rb") as f:
            catalog = read_po(f)
        changed = False
        for message in catalog:
            for flag in ("python-format", "python-brace-format", "no-python-format"):
                if flag in message.flags:
                    message.flags.discard(flag)
                    changed = True
            if message.id and (message.fuzzy or not message.string) and nothing_to_translate(message.id):
                message.string = message.id
                message.flags.discard("fuzzy")
                message.previous_id = []
                changed = True
                copied += 1
        if changed:
            with path.open("wb") as f:
                write_po(f, catalog, width=76)
    print(f"{copied} messages with nothing to translate copied across")
    print("Now translate what is untranslated or fuzzy, and delete obsolete (#~) entries; "
          "`pytest tests/test_translations.py` lists them.")


if __name__ == "__main__":
    main()
