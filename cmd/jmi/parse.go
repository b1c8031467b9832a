package main

import (
	"context"
	"errors"
)

// runParse is implemented with the wire package.
func runParse(ctx context.Context, e env) error {
	return errors.New("not implemented yet")
}
