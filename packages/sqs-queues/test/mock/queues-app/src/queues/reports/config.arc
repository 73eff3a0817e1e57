@aws
runtime python3.12
timeout 8
