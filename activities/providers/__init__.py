"""Provider adapters: one small interface per channel, one adapter per provider."""
