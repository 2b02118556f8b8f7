"""Mail: SMS to email, reply by email and Mail2SMS (F1, F5)."""
