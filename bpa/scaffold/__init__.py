"""`bpa new`: generate a connector or flow package that installs and passes its tests as is.

The packages come from the Jinja2 templates in ``templates/`` (shipped as package data).
"""

from bpa.scaffold._kinds import installed_kinds
from bpa.scaffold._render import (
    ScaffoldError,
    check_name,
    connector_package,
    flow_package,
    write_package,
)

__all__ = [
    "ScaffoldError",
    "check_name",
    "connector_package",
    "flow_package",
    "installed_kinds",
    "write_package",
]
