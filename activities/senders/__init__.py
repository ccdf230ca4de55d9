"""Channel senders: turn rendered messages into provider calls and message rows, one sender per channel."""
