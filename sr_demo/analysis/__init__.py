"""Analysis tools for trained SR networks (RDSR channel saliency)."""
