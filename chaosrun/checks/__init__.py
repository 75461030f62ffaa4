"""Pure verdict functions: circuit breaker, bulkhead, timeout/retry, recovery objective."""
