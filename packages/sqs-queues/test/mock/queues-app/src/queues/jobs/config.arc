@aws
timeout 1
