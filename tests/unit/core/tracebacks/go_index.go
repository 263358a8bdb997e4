// A Go runtime panic: index out of range, with the panicking goroutine's trace.
// EXPECT type=runtime.Error function=main.priceOf category=internal_error
// REQUIRES-BINARY go

package main

import "fmt"

func priceOf(prices []int, i int) int {
	return prices[i] // RAISE-SITE
}

func main() {
	fmt.Println(priceOf([]int{1, 2, 3}, 5))
}
