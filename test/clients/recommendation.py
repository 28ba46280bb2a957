"""What two readings of pool_config(..., 'json') must share to be the same
recommendation: everything but the evidence counted so far, which grows with
every sample (observed_seconds, samples)."""

EVIDENCE = ("observed_seconds", "samples")


def recommended(config):
    return {k: v for k, v in config.items() if k not in EVIDENCE}
