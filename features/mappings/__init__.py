"""Built-in mapping files (TOML), read by :func:`features.mapping.load_mapping`."""
