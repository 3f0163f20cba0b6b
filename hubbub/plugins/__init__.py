"""Hubbub's Pelican plugins, loadable by module path: PLUGINS = ["hubbub.plugins.comments", ...].

Each is a thin adapter from Pelican's signals to the publishing core (hubbub.core), with one
`register()` and settings that all have defaults.
"""
