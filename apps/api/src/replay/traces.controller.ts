import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { ReplayDto } from '@threadreel/model';
import { oneOf, requiredTraceId, resolution as resolutionParam, uuid } from './params.js';
import { ReplayService } from './replay.service.js';

@ApiTags('replay')
@Controller('api/traces')
export class TracesController {
  constructor(private readonly replay: ReplayService) {}

  @Get(':traceId')
  @ApiOperation({
    summary: "One request's replay: spans, involved threads' lanes, logs, GC pauses, syscalls and wakeups",
    description:
      'The window is the request (arrival … end) padded by 5 %. Involved threads: those bound to its spans, the holders of their lock waits and their other wakers. resolution = ns per pixel (default: window / 1000); sub-pixel segments are merged into summary items.',
  })
  @ApiParam({ name: 'traceId', description: '32 hex digits' })
  @ApiQuery({
    name: 'capture',
    required: false,
    description: 'default: the newest capture holding the trace',
  })
  @ApiQuery({ name: 'resolution', required: false, description: 'ns per pixel' })
  @ApiQuery({
    name: 'lanes',
    required: false,
    description:
      "full (default): every involved thread's lane at the resolution; auto: when the capture has lane tiles, only the bound threads' waits, whole (the lanes come from lane-tiles: see the answer's `lanes`)",
  })
  @ApiOkResponse({ description: '{ request, window, spans, threads, logs, gcPauses, syscalls, wakeups, … }' })
  async trace(
    @Param('traceId') traceId: string,
    @Query('capture') capture: unknown,
    @Query('resolution') resolution: unknown,
    @Query('lanes') lanes: unknown,
  ): Promise<ReplayDto> {
    return this.replay.replay(
      requiredTraceId('traceId', traceId),
      uuid('capture', capture),
      resolutionParam(resolution),
      oneOf('lanes', lanes, ['full', 'auto'] as const, 'full'),
    );
  }
}
