# emulator: the local AWS emulator (`edp emulator`); throwaway, so nothing is protected or scheduled.
# edp.environments adds emulator_override.tf to the roots it runs for this environment.
environment = "emulator"
region      = "eu-central-1"

foundation = {
  azs              = ["eu-central-1a", "eu-central-1b"]
  protect_data     = false # `edp infra destroy --allow-data-loss` must be able to clean the emulator
  schedule_enabled = false
}

session = {}
