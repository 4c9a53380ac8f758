"""The producer's service layer (C2M jobs first; the rest of the producer's commands follow from node/)."""
