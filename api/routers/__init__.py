"""One router per Novu resource."""
