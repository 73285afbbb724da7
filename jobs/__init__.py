"""Operator commands run by hand or by cron: retention, daily backup, restore."""
