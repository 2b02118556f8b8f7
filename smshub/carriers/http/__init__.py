"""HTTP carriers (K3): a generic base and one small class per provider."""
