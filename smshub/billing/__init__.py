"""Usage pricing: rating rules by destination prefix (U2)."""
