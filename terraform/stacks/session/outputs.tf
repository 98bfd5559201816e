output "session" {
  description = "What is on (modes, started_at, ttl_hours, expires_at, scale, per-mode names); null when nothing is."
  value       = local.session
}

output "session_parameter" {
  description = "SSM parameter holding the same JSON while a session is up."
  value       = local.f.session_parameter
}
