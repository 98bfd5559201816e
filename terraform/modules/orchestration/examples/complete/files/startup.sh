#!/bin/sh
# MWAA startup script of the local example: runs on every scheduler, worker and web server before Airflow.
export EDP_TARGET=aws
