"""Records of job runs (job_runs) and the leases that keep one job from running twice."""
