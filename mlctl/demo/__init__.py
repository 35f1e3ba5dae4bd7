"""`mlctl demo`: a complete example project and the whole lifecycle run on it."""
