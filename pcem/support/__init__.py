"""Support staff's view of any user's records, every access of which is recorded."""
