# syntax=docker/dockerfile:1 --debug
FROM busybox
