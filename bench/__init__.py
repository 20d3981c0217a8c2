# The evaluations ask question after question from one client, far past a client's AI quota
# (shared/ai/quota.py): they measure the answers, not the quotas.
UNMETERED = {
    "ai_requests_per_minute": 1_000_000,
    "ai_model_calls_per_minute": 1_000_000,
    "ai_model_calls_at_once": 1_000,
}
