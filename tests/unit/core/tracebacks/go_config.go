// A Go panic with a wrapped library error: panic(fmt.Errorf(... %w, err)) after os.ReadFile failed.
// EXPECT type=panic function=main.loadConfig category=internal_error
// REQUIRES-BINARY go

package main

import (
	"fmt"
	"os"
)

func loadConfig(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Errorf("load config: %w", err)) // RAISE-SITE
	}
	return data
}

func main() {
	fmt.Println(len(loadConfig("/nonexistent/streamfix-config.yaml")))
}
