"""The bundled dataset, installed as the package `app.bundled` (see pyproject.toml) so `dipevents serve` finds it
through importlib.resources from any folder. This file is what makes that mapping work in editable installs too;
`dipevents check` and `load` read only .yaml, .yml and .json files.
"""
