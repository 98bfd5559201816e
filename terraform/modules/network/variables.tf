variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  description = "VPC CIDR; subnets are /24s carved from it (public .0-.1, private .10-.11 of the third octet)."
  type        = string
  default     = "10.10.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "azs" {
  description = "Exactly two availability zones, one public and one private subnet in each."
  type        = list(string)

  validation {
    condition     = length(var.azs) == 2 && length(distinct(var.azs)) == 2
    error_message = "azs must list two different availability zones."
  }
}

variable "enable_nat" {
  description = "One NAT gateway for private-subnet egress to AWS APIs (off for an isolated environment)."
  type        = bool
  default     = true
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to reach the public load balancer on 443."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alb_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "alb_ingress_cidrs must be IPv4 CIDRs."
  }
}

variable "kms_key_arn" {
  description = "Platform KMS key that encrypts the flow-log group (null: CloudWatch Logs' own encryption). Its policy must let logs.<region>.amazonaws.com use it, as iam_metadata's does."
  type        = string
  default     = null
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value of a year or more (365, 400, 545, 731, ...)."
  }
}

variable "flow_log_traffic_type" {
  description = "Which flows are logged: ALL, ACCEPT or REJECT."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ACCEPT", "REJECT"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ALL, ACCEPT or REJECT."
  }
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
