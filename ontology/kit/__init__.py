"""Small shared pieces: errors, ids, keyset pagination, property rules, time."""
