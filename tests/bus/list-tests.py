#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints CLASS.METHOD for every test_* method of the unittest files given, one a line.

meson runs this at configure time to register one meson test per test case. It reads the files
with ast and imports nothing, so configuring needs neither gi nor a bus.
"""
import ast
import sys

for path in sys.argv[1:]:
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith('test_'):
                print('%s.%s' % (node.name, item.name))
