"""Bridges to other libraries' types. Each submodule imports its library lazily."""
