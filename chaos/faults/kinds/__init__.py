"""The built-in fault kinds, one per module; importing this package registers them all.

Every module in this folder is imported, so a new kind needs only a new file with a
``@register``-decorated ``BaseFault`` subclass.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
