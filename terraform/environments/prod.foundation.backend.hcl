# The prod foundation state. The bucket comes from `-backend-config=bucket=$EDP_TF_STATE_BUCKET`.
key          = "prod/foundation.tfstate"
region       = "eu-central-1"
encrypt      = true
use_lockfile = true
