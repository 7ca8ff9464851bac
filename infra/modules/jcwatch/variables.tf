variable "name" {
  description = "Prefix for every resource name (functions, tables, topics, queue, key alias). Use one prefix per deployment in an account and region."
  type        = string
  default     = "jcwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 28 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen (it prefixes function, table, queue and S3 bucket names; S3 bucket prefixes are limited to 37 characters)."
  }
}

variable "architecture" {
  description = "Instruction set of both Lambda functions. It must match the target the zips were built for: `cargo lambda build --release --x86-64` or `--arm64`."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "poll_zip_path" {
  description = "Path of the poll function's zip built by cargo-lambda. Relative paths are resolved from the directory where terraform runs; the default fits infra/examples/basic."
  type        = string
  default     = "../../../target/lambda/poll/bootstrap.zip"

  validation {
    condition     = endswith(var.poll_zip_path, ".zip")
    error_message = "poll_zip_path must point to the bootstrap.zip that `cargo lambda build --output-format zip` writes."
  }
}

variable "detect_zip_path" {
  description = "Path of the detect function's zip built by cargo-lambda. Relative paths are resolved from the directory where terraform runs; the default fits infra/examples/basic."
  type        = string
  default     = "../../../target/lambda/detect/bootstrap.zip"

  validation {
    condition     = endswith(var.detect_zip_path, ".zip")
    error_message = "detect_zip_path must point to the bootstrap.zip that `cargo lambda build --output-format zip` writes."
  }
}

variable "config_file" {
  description = "Path of the jcwatch TOML configuration file (rules, thresholds, allow-lists, notification routing). It is uploaded to the module's S3 bucket and read by both functions at cold start."
  type        = string

  validation {
    condition     = endswith(var.config_file, ".toml") && fileexists(var.config_file)
    error_message = "config_file must name an existing .toml file."
  }
}

variable "schedule_expression" {
  description = "How often EventBridge Scheduler runs the poll function, as a rate() or cron() expression."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.schedule_expression))
    error_message = "schedule_expression must look like rate(5 minutes) or cron(0/5 * * * ? *)."
  }
}

variable "jumpcloud_region" {
  description = "JumpCloud region of the organisation: us (console.jumpcloud.com), eu (console.eu.jumpcloud.com) or in."
  type        = string
  default     = "us"

  validation {
    condition     = contains(["us", "eu", "in"], var.jumpcloud_region)
    error_message = "jumpcloud_region must be one of us, eu, in."
  }
}

variable "jumpcloud_base_url" {
  description = "Optional base URL of the Directory Insights API that overrides jumpcloud_region (for a proxy). Leave null for JumpCloud itself."
  type        = string
  default     = null

  validation {
    condition     = var.jumpcloud_base_url == null || can(regex("^https://[^\\s/]+(/[^\\s]*)?$", var.jumpcloud_base_url))
    error_message = "jumpcloud_base_url must be an https:// URL without spaces, or null."
  }
}

variable "jumpcloud_org_ids" {
  description = "JumpCloud organisation ids to poll (multi-tenant / MSP keys). Empty polls the key's own organisation."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.jumpcloud_org_ids : can(regex("^[0-9a-f]{24}$", id))])
    error_message = "Each JumpCloud organisation id is 24 lower-case hexadecimal characters."
  }
}

variable "poll_lag" {
  description = "How far behind now the poll window ends (for example 2m), so late-indexed events are still fetched. Null keeps the function's default."
  type        = string
  default     = null

  validation {
    condition     = var.poll_lag == null || can(regex("^[0-9]+(ms|s|m|h|d)$", var.poll_lag))
    error_message = "poll_lag is a duration like 90s, 2m or 1h."
  }
}

variable "poll_overlap" {
  description = "How far before the saved high-water mark each window starts again (for example 10m); repeated events are deduplicated. Null keeps the function's default."
  type        = string
  default     = null

  validation {
    condition     = var.poll_overlap == null || can(regex("^[0-9]+(ms|s|m|h|d)$", var.poll_overlap))
    error_message = "poll_overlap is a duration like 90s, 10m or 1h."
  }
}

variable "poll_backfill" {
  description = "How much history the first poll of an organisation reads (for example 24h). Null keeps the function's default."
  type        = string
  default     = null

  validation {
    condition     = var.poll_backfill == null || can(regex("^[0-9]+(ms|s|m|h|d)$", var.poll_backfill))
    error_message = "poll_backfill is a duration like 6h or 7d."
  }
}

variable "poll_shard_size" {
  description = "How many organisations one poll invocation polls; with more organisations the rest are handed to further invocations of the poll function. Null keeps the function's default."
  type        = number
  default     = null

  validation {
    condition     = var.poll_shard_size == null || (try(var.poll_shard_size >= 1 && var.poll_shard_size <= 1000 && floor(var.poll_shard_size) == var.poll_shard_size, false))
    error_message = "poll_shard_size must be a whole number from 1 to 1000, or null."
  }
}

variable "duet_emails" {
  description = "Addresses that receive DUET (\"did you expect this?\") notifications: SNS messages whose route attribute is duet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.duet_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of duet_emails must be an e-mail address."
  }
}

variable "alert_emails" {
  description = "Addresses that receive security alerts: SNS messages whose route attribute is alert."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of alert_emails must be an e-mail address."
  }
}

variable "ops_emails" {
  description = "Addresses that receive operational messages: the functions' own ops notifications (route ops, for example a rejected JumpCloud key) and every CloudWatch alarm (through the ops topic)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.ops_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of ops_emails must be an e-mail address."
  }
}

variable "slack_workspace_id" {
  description = "Slack workspace (team) id, shown in the AWS Chatbot console after the workspace was authorised there once by hand. Set it together with slack_channel_id to send notifications and alarms to Slack; null disables Slack."
  type        = string
  default     = null

  validation {
    condition     = var.slack_workspace_id == null || can(regex("^[0-9A-Z]{1,255}$", var.slack_workspace_id))
    error_message = "slack_workspace_id is the workspace id from the AWS Chatbot console, upper-case letters and digits (like T07ABCDEF12)."
  }
}

variable "slack_channel_id" {
  description = "Slack channel id (like C07EZ1ABC23, from the channel's details). Set it together with slack_workspace_id; null disables Slack. Invite the AWS app (@Amazon Q) to private channels."
  type        = string
  default     = null

  validation {
    condition     = var.slack_channel_id == null || can(regex("^[A-Za-z0-9]{1,255}$", var.slack_channel_id))
    error_message = "slack_channel_id is letters and digits only, like C07EZ1ABC23."
  }
}

variable "chatbot_logging_level" {
  description = "Logging level of the AWS Chatbot channel configuration (ERROR shows rejected notifications in CloudWatch Logs)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ERROR", "INFO", "NONE"], var.chatbot_logging_level)
    error_message = "chatbot_logging_level must be ERROR, INFO or NONE."
  }
}

variable "log_retention_days" {
  description = "Retention of both functions' CloudWatch log groups, in days. A year keeps an audit trail of what was polled and alerted."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "poll_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the poll function: the scheduled tick plus the shards of organisations it hands to other invocations of itself."
  type        = number
  default     = 10

  validation {
    condition     = var.poll_reserved_concurrency >= 1 && var.poll_reserved_concurrency <= 1000 && floor(var.poll_reserved_concurrency) == var.poll_reserved_concurrency
    error_message = "poll_reserved_concurrency must be a whole number from 1 to 1000 (0 would stop polling)."
  }
}

variable "detect_reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the detect function. Batches beyond it wait in Lambda's async queue, up to detect_maximum_event_age_seconds."
  type        = number
  default     = 20

  validation {
    condition     = var.detect_reserved_concurrency >= 1 && var.detect_reserved_concurrency <= 1000 && floor(var.detect_reserved_concurrency) == var.detect_reserved_concurrency
    error_message = "detect_reserved_concurrency must be a whole number from 1 to 1000 (0 would send every batch straight to the dead-letter queue)."
  }
}

variable "poll_memory_mb" {
  description = "Memory of the poll function in MB (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.poll_memory_mb >= 128 && var.poll_memory_mb <= 10240
    error_message = "poll_memory_mb must be between 128 and 10240."
  }
}

variable "detect_memory_mb" {
  description = "Memory of the detect function in MB (CPU scales with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.detect_memory_mb >= 128 && var.detect_memory_mb <= 10240
    error_message = "detect_memory_mb must be between 128 and 10240."
  }
}

variable "poll_timeout_seconds" {
  description = "Timeout of the poll function. It stops cleanly before this deadline and the next tick resumes from the saved cursor."
  type        = number
  default     = 240

  validation {
    condition     = var.poll_timeout_seconds >= 30 && var.poll_timeout_seconds <= 900
    error_message = "poll_timeout_seconds must be between 30 and 900."
  }
}

variable "detect_timeout_seconds" {
  description = "Timeout of the detect function for one batch."
  type        = number
  default     = 120

  validation {
    condition     = var.detect_timeout_seconds >= 10 && var.detect_timeout_seconds <= 900
    error_message = "detect_timeout_seconds must be between 10 and 900."
  }
}

variable "detect_maximum_event_age_seconds" {
  description = "How long Lambda keeps retrying or queueing a batch for the detect function before it goes to the dead-letter queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.detect_maximum_event_age_seconds >= 60 && var.detect_maximum_event_age_seconds <= 21600
    error_message = "detect_maximum_event_age_seconds must be between 60 and 21600 (Lambda's limits)."
  }
}

variable "no_events_alarm_hours" {
  description = "Raise the ops alarm when the poll function has fetched no events for this many consecutive hours (including hours in which it did not run at all)."
  type        = number
  default     = 6

  validation {
    condition     = var.no_events_alarm_hours >= 1 && var.no_events_alarm_hours <= 24 && floor(var.no_events_alarm_hours) == var.no_events_alarm_hours
    error_message = "no_events_alarm_hours must be a whole number from 1 to 24."
  }
}

variable "deletion_protection" {
  description = "Protect the DynamoDB tables from deletion (terraform destroy fails until this is set to false and applied)."
  type        = bool
  default     = true
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps the JumpCloud credential after the secret is deleted (0 deletes at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's KMS key is deleted after terraform destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}
