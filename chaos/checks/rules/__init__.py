"""The built-in rules, one per module; importing this package registers them all.

Every module in this folder is imported, so a new rule needs only a new file with a
``@register``-decorated check.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
