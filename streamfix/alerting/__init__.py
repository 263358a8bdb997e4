"""Alert delivery: channels (Slack, Discord, PagerDuty, Opsgenie, a signed webhook) behind one interface,
and a deliverer that sends each alert to each channel exactly once, with retries, parking and rate limits."""
