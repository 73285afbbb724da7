"""What the dashboard and the API share: who may sign in, what a role may see, and the scoped reads of InfluxDB."""
