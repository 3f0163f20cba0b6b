"""Spam defences: Akismet and the local guards."""
