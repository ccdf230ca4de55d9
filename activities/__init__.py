"""Every side effect done on behalf of workflows: recipients, rendering, preferences, providers, records."""
