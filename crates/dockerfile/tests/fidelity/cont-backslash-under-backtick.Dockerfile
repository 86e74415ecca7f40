# escape=`
FROM alpine AS base
RUN dir c:\
FROM busybox
