"""The demo's market simulator: real demand replayed through a Yuantou network and through a
central-platform baseline, on the same demand, with the same producers' capacity."""
