"""Registers ganforge's config schema and resolvers whenever Hydra scans for plugins.

``dvc exp run`` composes ``conf/`` into ``params.yaml`` in DVC's own process, which never imports ganforge;
the root defaults list names ``schema_config`` (a ConfigStore entry), so that composition needs the schema
registered. DVC puts the repository root on the plugin path (``hydra.plugins_path``) and Hydra imports every
module under ``hydra_plugins/`` there: importing this one registers the schema.
"""

try:
    from ganforge.config.loading import register_resolvers
except ImportError:  # ganforge not installed in this interpreter: nothing to register
    pass
else:
    register_resolvers()
