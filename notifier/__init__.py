"""Notifier: delivers ``fleet.alerts`` to webhooks and email, each alert once per recipient.

Standalone service (``python -m notifier``): it reads alerts as plain JSON dicts and never
imports dataflow code, so it can be deployed, restarted and scaled on its own.
"""
