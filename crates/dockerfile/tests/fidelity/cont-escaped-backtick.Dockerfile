# escape=`
FROM alpine AS base
RUN echo ``
FROM busybox
