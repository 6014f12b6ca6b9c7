// Projection workers.
