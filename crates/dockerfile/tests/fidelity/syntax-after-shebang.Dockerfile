#!/usr/bin/env -S docker buildx build -f
# syntax=docker/dockerfile:1.7
FROM busybox
